// The exit codes alone, so commands that need nothing else load no other module.
/** Process exit codes (docs/ERRORS.md). */
export const EXIT = {
  /** Clean exit (also: `rhio status` found the node healthy). */
  OK: 0,
  /** Runtime failure: a component failed to start or stop in time, a crash, a forced exit; `rhio status`: unhealthy. */
  FAILURE: 1,
  /** Bad input: configuration, key file, command-line usage. */
  BAD_INPUT: 2,
  /** `rhio status`: the node could not be reached. */
  UNREACHABLE: 3,
} as const
