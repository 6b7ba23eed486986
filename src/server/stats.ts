// Counters of one server process: what INFO reports and the periodic summary prints.

export class Stats {
  requests = 0;
  hits = 0;
  misses = 0;
  errors = 0;
  connectionsTotal = 0;
  rejected = 0;
}
