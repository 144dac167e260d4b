/**
 * Analyses of trained models: the paper's Figure 1 measure (mean attention
 * distance per layer and head) and DINO's k-NN evaluation on frozen features.
 *
 * @example
 * const meter = new AttentionDistanceMeter({ patchSize: 16 })
 * const { top1 } = yield* knnClassify({ trainFeatures, trainLabels, testFeatures, testLabels }, { numClasses: 10 })
 */
export {
  attentionDistance,
  AttentionDistanceMeter,
  type AttentionDistanceOptions,
  type AttentionDistanceResult,
  attentionDistanceSums,
  attentionGrid,
  patchDistances,
} from "./attentionDistance.ts"
export { InvalidAnalysisOption, InvalidAttentionShape, KnnInputMismatch } from "./errors.ts"
export { checkKnn, knnClassify, type KnnInput, type KnnOptions, type KnnResult } from "./knn.ts"
export { type BarChart, barChartSvg, type BarSeries, checkBarChart, checkLineChart, type LineChart, lineChartSvg, type LineSeries, svgToPng } from "./plot.ts"
export {
  argmaxHead,
  attentionConfidence,
  AttentionConfidenceMeter,
  type AttentionConfidenceOptions,
  type AttentionConfidenceResult,
  attentionConfidenceSums,
  checkAttentionConfidence,
} from "./attentionConfidence.ts"
export {
  binomialDetectableDifference,
  binomialSe,
  normalQuantile,
  type Paired,
  pairBySeed,
  pairedDetectableDifference,
  pairedTTest,
  type PairedTTest,
  regularizedIncompleteBeta,
  sampleSd,
  signAgreement,
  studentTCdf,
  studentTQuantile,
  studentTTwoSidedP,
} from "./pairedStats.ts"
