import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  awsProviderVersionsIn,
  candidateMirrorDirs,
  findAwsProviderMirror,
  MIRROR_ENV,
  noMirrorMessage,
  terraformPlatform,
} from "../../helpers/terraform-mirror.ts";

/** Fake mirrors in both layouts Terraform reads (the binaries are empty files: only the layout matters). */
let root: string;
const platform = terraformPlatform();
const awsDir = (mirror: string) => join(root, mirror, "registry.terraform.io/hashicorp/aws");

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "hbsync-mirror-"));
  await mkdir(join(awsDir("unpacked"), "5.100.0", platform), { recursive: true });
  await writeFile(join(awsDir("unpacked"), "5.100.0", platform, "terraform-provider-aws_v5.100.0_x5"), "");
  await mkdir(join(awsDir("unpacked"), "6.2.0", "other_platform"), { recursive: true });
  await writeFile(
    join(awsDir("unpacked"), "6.2.0", "other_platform", "terraform-provider-aws_v6.2.0_x5"),
    "",
  );
  await mkdir(awsDir("packed"), { recursive: true });
  await writeFile(join(awsDir("packed"), `terraform-provider-aws_6.2.0_${platform}.zip`), "");
  await writeFile(join(awsDir("packed"), "terraform-provider-aws_6.1.0_other_platform.zip"), "");
  await mkdir(join(root, "empty"), { recursive: true });
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("tests/helpers/terraform-mirror", () => {
  describe("awsProviderVersionsIn", () => {
    it("reads the unpacked and the packed layout, for this platform only", () => {
      expect(awsProviderVersionsIn(join(root, "unpacked"))).toEqual(["5.100.0"]);
      expect(awsProviderVersionsIn(join(root, "packed"))).toEqual(["6.2.0"]);
      expect(awsProviderVersionsIn(join(root, "empty"))).toEqual([]);
    });
  });

  describe("findAwsProviderMirror", () => {
    it("prefers the directory HBSYNC_TERRAFORM_MIRROR names", () => {
      expect(findAwsProviderMirror({ [MIRROR_ENV]: join(root, "packed"), HOME: root })).toEqual({
        dir: join(root, "packed"),
        versions: ["6.2.0"],
      });
    });

    it("fails loudly when the directory it names holds no provider", () => {
      expect(() => findAwsProviderMirror({ [MIRROR_ENV]: join(root, "empty"), HOME: root })).toThrow(
        /holds no hashicorp\/aws provider/,
      );
    });

    it("finds nothing with HBSYNC_TERRAFORM_MIRROR=none, and says how to enable the tests", () => {
      const env = { [MIRROR_ENV]: "none", HOME: root };

      expect(findAwsProviderMirror(env)).toBeUndefined();
      expect(candidateMirrorDirs(env)).toEqual([]);
      expect(noMirrorMessage(env)).toMatch(/terraform providers mirror .*set HBSYNC_TERRAFORM_MIRROR=<dir>$/);
    });

    it("looks in the places Terraform itself uses", () => {
      expect(candidateMirrorDirs({ HOME: "/home/u" })).toEqual([
        "/opt/tf-plugins",
        "/home/u/.terraform.d/plugins",
        "/home/u/.local/share/terraform/plugins",
        "/usr/local/share/terraform/plugins",
        "/usr/share/terraform/plugins",
      ]);
    });
  });
});
