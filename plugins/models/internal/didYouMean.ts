/** Moved to `dsl/Names.ts` (one "did you mean" for every registry); kept as a re-export for existing importers. */
export { suggest } from "../../../dsl/Names.ts"
