/**
 * Failure modes of the teacher plugins and their stages: one tagged error per
 * mode, the data in fields, a message naming the file, field or value and
 * what was expected.
 */
import { Data } from "effect"

