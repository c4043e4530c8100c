import type { ErrorKind } from "../shared/errors.ts";

/** The exit codes of DESIGN.md §8. Scripts and workflows depend on them: never renumber. */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  OVER_BUDGET: 3,
  /** EX_TEMPFAIL from sysexits.h: another sync holds the lock, try later. */
  LOCKED: 75,
} as const;

export const EXIT_CODE_BY_KIND: Record<ErrorKind, number> = {
  failed: EXIT.FAILED,
  usage: EXIT.USAGE,
  budget: EXIT.OVER_BUDGET,
  locked: EXIT.LOCKED,
};
