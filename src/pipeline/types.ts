/**
 * The user's deployment model (seed/design-document.md "Deployment Models"), in TypeScript.
 */

/** How a deployment ended (or that it is still running). */
export type DeploymentStatus = "success" | "failed" | "in_progress" | "rolled_back";

export interface DeploymentResult {
  environment: string;
  status: DeploymentStatus;
  /** Wall-clock duration in seconds. */
  duration: number;
  /** The git SHA deployed (`artifact_version`). */
  commitSha: string;
  /** `terraform output -json`, flattened to name → value. */
  terraformOutputs: Record<string, unknown>;
  errors: string[];
}
