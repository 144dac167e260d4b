/**
 * Config fields every SSL pretraining stage shares (DINO, MAE, a user's own):
 * the teacher name recorded in the artifact, the data, the seed, the backbone
 * and the epoch/batch budget. Each stage adds its objective's own fields.
 */
import { Schema } from "effect"
import { Config } from "../../../dsl/index.ts"
import { archFields } from "../../teachers/architecture.ts"

export const pretrainFields = (teacher: string) => ({
  /** Name recorded in the artifact (a user's teacher may reuse this stage). */
  teacher: Config.withDefault(Schema.String, teacher),
  dataset: Config.withDefault(Schema.String, "fashion-mnist"),
  /** First N training images (0: all). */
  trainCount: Config.withDefault(Config.IntAtLeast(0), 0),
  seed: Config.withDefault(Schema.Int, 0),
  ...archFields,
  epochs: Config.withDefault(Config.IntAtLeast(1), 10),
  batchSize: Config.withDefault(Config.IntAtLeast(1), 64),
})
