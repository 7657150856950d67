/**
 * The Gatehouse release this build is.
 *
 * @module
 */

/** Semantic version of this build, shown in `serverInfo`. */
export const GATEHOUSE_VERSION = "0.1.0";
