/** The status page (issue 11): model, HTML/SVG rendering, `/status.json`, routes for `hbsync serve`. */
export { barChart, niceBytes, niceCount } from "./charts.ts";
export { collectCosts } from "./costs.ts";
export { StatusError, StatusPublishError } from "./errors.ts";
export { escapeHtml, humanBytes, humanDuration, humanTime } from "./format.ts";
export { collectDeployments, parseDeploymentRecord, type StatusLedger } from "./ledger-source.ts";
export {
  type CollectStatusOptions,
  collectStatus,
  DEFAULT_STALE_AFTER_SECONDS,
  HISTORY_RUNS,
  parseRunReport,
  RECENT_RUNS,
  summarizeMirror,
} from "./model.ts";
export { statusFiles, writeStatusFolder, writeStatusObjects } from "./publish.ts";
export { type RenderOptions, renderStatusPage } from "./render.ts";
export {
  handleStatusRequest,
  STATUS_CSP,
  STATUS_PATHS,
  type StatusRouteOptions,
  statusJson,
  statusRoutes,
} from "./routes.ts";
export { STATUS_CSS } from "./status-css.ts";
export type * from "./types.ts";
