// Records: the one way every session, command and tool finds a record and reads its
// key and value, whatever holds the bytes. Implemented today by the in-memory DataFile
// alone (src/format/data-file.ts); the storage tiers (a memory-mapped file, records
// read from disk) implement it too.
//
// What a caller may assume:
// - Everything is synchronous: find() and the accessors return at once, and no
//   callback, promise or event-loop turn stands between a lookup and its bytes.
// - A record handle is a number that means something only to the Records that returned
//   it, and only within the current synchronous turn: it is not kept across an await,
//   a timer or a reply written later, nor used with another Records (a hot swap
//   replaces the data between two turns, never within one).
// - keyStart(r), valueStart(r) are offsets into `bytes`, and keyLength(r), valueLength(r)
//   the lengths there: bytes[keyStart(r), keyStart(r) + keyLength(r)) is the key. The
//   bytes do not change while the Records is in use; a reply may send a view of them.
// - recordAtSlot(slot) for slot in [0, slotCount) visits every record exactly once
//   (SCAN's cursor); an empty slot is -1.
//
// What a later implementation may change:
// - Where `bytes` comes from (a memory-mapped file) and how much of the data set it
//   holds. Records fetched from disk are not all in memory: before a command runs, its
//   session fetches the records that command needs and hands it a Records view holding
//   just those, so the command itself stays synchronous; find() on such a view answers
//   for the keys it was fetched for.
// - Handles: they need not be file offsets, and two views may number the same record
//   differently.
//
// The hot path (a GET) calls these on one implementation at a time, so the calls stay
// monomorphic: an implementation must not allocate or build closures in find() or the
// accessors.

export interface Records {
  /** Every byte a record handle's accessors point into. */
  readonly bytes: Buffer;
  readonly recordCount: number;
  /** Index slots, for recordAtSlot(): at least recordCount. */
  readonly slotCount: number;
  /** The handle of the record whose key is key[start, end), or -1. */
  find(key: Uint8Array, start: number, end: number): number;
  /** The handle of the record in index slot `slot`, or -1 when the slot is empty. */
  recordAtSlot(slot: number): number;
  /** The handle of a record chosen at random (RANDOMKEY), or -1 when there are none. */
  randomRecord(): number;
  keyStart(record: number): number;
  keyLength(record: number): number;
  valueStart(record: number): number;
  valueLength(record: number): number;
}
