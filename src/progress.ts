// Progress of a long-running tool on a terminal: one line on stderr, redrawn in place
// (`\r` + the line + clear to end of line) at most every 250 ms, saying what is done
// (records or bytes), the rate and, when the total is known, the time left. Nothing
// at all is written when the stream is not a terminal or the tool was given --quiet,
// so pipes, files and scripts never see it. A stage that ends within the first 250 ms
// shows nothing either. The environment variable ROKV_PROGRESS_MS sets that interval
// (tests use 0: every look at the clock draws).
//
// Contract: create one Progress per command; start() a counted stage, or note() (or
// during()) a stage that cannot be counted; call tick(done) per item (it looks at the clock only every
// CHECK_EVERY calls, so its cost per record is an increment) or update(done) per chunk;
// end() before anything else goes to stderr (a summary, an error) and when done.

export type ProgressUnit = 'records' | 'requests' | 'bytes';

/** Where the line goes: stderr, or a fake stream in tests. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** --quiet: draw nothing. */
  quiet?: boolean;
  /** Default process.stderr; progress is drawn only when its isTTY is true. */
  stream?: ProgressStream;
  /** Milliseconds, monotonic (default performance.now); tests pass a fake clock. */
  now?: () => number;
  /** Least time between two draws (default 250, or ROKV_PROGRESS_MS). */
  intervalMs?: number;
  /** Nothing is drawn by update() until this long after construction (default 0; ROKV_PROGRESS_MS when set): a tool whose work is usually short shows nothing then. */
  firstAfterMs?: number;
}

/** tick() looks at the clock once every this many calls (a power of two). */
export const CHECK_EVERY = 1024;
const DEFAULT_INTERVAL_MS = 250;
const CLEAR_TO_END = '\x1b[K';

const byThousands = (n: number): string => Math.round(n).toLocaleString('en-US');

/** 999 B, 12.3 kB, 456.7 MB, 1.2 GB: decimal units, one decimal from kB on. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Seconds as m:ss or h:mm:ss, rounded up (0:00 only for nothing left). */
export function formatDuration(seconds: number): string {
  const whole = Math.ceil(Math.max(0, seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** An amount in `unit`: "1,234 records", "12.3 MB". */
function amount(unit: ProgressUnit, n: number): string {
  return unit === 'bytes' ? formatBytes(n) : `${byThousands(n)} ${unit}`;
}

/**
 * The progress line of `label` (the tool) in stage `what` (may be empty): done, out of
 * `total` with the percentage when known; the mean rate since the stage began
 * `elapsedMs` ago, when any time has passed; the time left at that rate when the total
 * is known, or `secondsLeft` when the caller knows it otherwise (a run of fixed duration).
 * "pack: reading 12.3 MB / 45.6 MB (27%), 8.1 MB/s, ETA 0:05".
 */
export function progressLine(label: string, what: string, unit: ProgressUnit, done: number, total: number | null, elapsedMs: number, secondsLeft: number | null = null): string {
  const stage = what === '' ? '' : `${what} `;
  let counted: string;
  if (total === null) counted = amount(unit, done);
  else {
    const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
    counted = unit === 'bytes'
      ? `${formatBytes(done)} / ${formatBytes(total)} (${percent}%)`
      : `${byThousands(done)} / ${byThousands(total)} ${unit} (${percent}%)`;
  }
  const parts = [`${label}: ${stage}${counted}`];
  if (elapsedMs > 0) {
    const perSecond = (done / elapsedMs) * 1000;
    parts.push(unit === 'bytes' ? `${formatBytes(perSecond)}/s` : `${byThousands(perSecond)} ${unit}/s`);
    if (secondsLeft !== null) parts.push(`ETA ${formatDuration(secondsLeft)}`);
    else if (total !== null && perSecond > 0) parts.push(`ETA ${formatDuration(Math.max(0, total - done) / perSecond)}`);
  }
  return parts.join(', ');
}

/** ROKV_PROGRESS_MS when it is a whole number of milliseconds (the interval, and the delay before a first draw), else null. */
function intervalFromEnvironment(): number | null {
  const text = process.env.ROKV_PROGRESS_MS;
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : null;
}

export class Progress {
  private readonly label: string;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly firstDrawAt: number;
  /** False with --quiet or a stream that is not a terminal: every method returns at once. */
  readonly enabled: boolean;
  private what = '';
  private unit: ProgressUnit = 'records';
  private total: number | null = null;
  private startedAt = 0;
  private lastDrawAt = 0;
  private calls = 0;
  /** A line is on the terminal (end() clears it). */
  private shown = false;

  /** Progress of the tool `label` ("pack"), shown as "label: …". */
  constructor(label: string, options: ProgressOptions = {}) {
    this.label = label;
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? (() => performance.now());
    const fromEnvironment = intervalFromEnvironment();
    this.intervalMs = options.intervalMs ?? fromEnvironment ?? DEFAULT_INTERVAL_MS;
    this.firstDrawAt = this.now() + (fromEnvironment ?? options.firstAfterMs ?? 0);
    this.enabled = !options.quiet && this.stream.isTTY === true;
  }

  /** Begins a counted stage: `what` ("reading", may be ''), its unit and total (null: unknown). Rate and time left restart. */
  start(what: string, unit: ProgressUnit, total: number | null = null): void {
    if (!this.enabled) return;
    this.what = what;
    this.unit = unit;
    this.total = total;
    this.startedAt = this.now();
    this.lastDrawAt = this.startedAt;
    this.calls = 0;
  }

  /** Per item, `done` items so far: looks at the clock every CHECK_EVERY calls only. */
  tick(done: number): void {
    if ((++this.calls & (CHECK_EVERY - 1)) !== 0) return;
    this.update(done);
  }

  /**
   * `done` so far (per chunk): redraws when the interval has passed since the last draw
   * (or the stage's start). `secondsLeft`, when given, is the time left shown.
   */
  update(done: number, secondsLeft: number | null = null): void {
    if (!this.enabled) return;
    const now = this.now();
    if (now - this.lastDrawAt < this.intervalMs || now < this.firstDrawAt) return;
    this.lastDrawAt = now;
    this.draw(progressLine(this.label, this.what, this.unit, done, this.total, now - this.startedAt, secondsLeft));
  }

  /** A stage that cannot be counted (a synchronous check, building an index): its text, shown at once. */
  note(text: string): void {
    if (!this.enabled) return;
    this.draw(`${this.label}: ${text}`);
  }

  /** Runs `work`, a synchronous stage that cannot be counted, with note(text) shown while it runs (cleared after). */
  during<T>(text: string, work: () => T): T {
    this.note(text);
    try {
      return work();
    } finally {
      this.end();
    }
  }

  /** Clears the line, if one is shown; call before writing anything else to stderr. */
  end(): void {
    if (!this.shown) return;
    this.stream.write(`\r${CLEAR_TO_END}`);
    this.shown = false;
  }

  /** One line, cut to the terminal's width so that it never wraps (a wrapped line cannot be redrawn in place). */
  private draw(line: string): void {
    const width = this.stream.columns;
    const fitted = width !== undefined && width > 1 && line.length >= width ? line.slice(0, width - 1) : line;
    this.stream.write(`\r${fitted}${CLEAR_TO_END}`);
    this.shown = true;
  }
}
