export declare const CLI_BUILD_DIR: string;
export declare const CLI_ENTRY: string;
export declare const CLI_INPUTS: string;
/** The built entry point when dist/cli matches the sources under `root`, else why not. */
export declare function freshBuild(root: string): { entry: string } | { stale: string };
