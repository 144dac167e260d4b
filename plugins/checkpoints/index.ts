/**
 * Checkpoints: safetensors read/write (F32, F16, BF16, and reading every
 * format dtype), validated against malformed files, PyTorch `.pth` files
 * read by a restricted unpickler (official DINO / MAE layouts, nothing
 * executed), and ViT weights under timm's names.
 */
export * from "./errors.ts"
export { decodeSafetensors, maxHeaderBytes, type SafetensorsContents, type TensorEntry } from "./safetensors/decode.ts"
export { type Dtype, dtypeSizes, type FloatDtype } from "./safetensors/dtype.ts"
export { encodeSafetensors, type TensorToWrite } from "./safetensors/encode.ts"
export { entryToFloat32, entryToTensor, getEntry, openSafetensors, readSafetensors, type SafetensorsFile, writeSafetensors } from "./safetensors/file.ts"
export { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./safetensors/halfFloat.ts"
export { type FilterOptions, type FilterResult, type FloatTensor, timmCheckpointFilter } from "./timmFilter.ts"
export { floatState, loadVitCheckpoint, loadVitState, type LoadOptions, saveVitCheckpoint, type SaveOptions } from "./vitCheckpoint.ts"
export * from "./pth/errors.ts"
export { decodePth, type PthContents, readPth } from "./pth/file.ts"
export { type PthLayout, type PthState, type PthStateOptions, pthStateDict } from "./pth/layouts.ts"
export { allowedGlobals, type PickledTensor, type PickleValue, unpickle } from "./pth/unpickle.ts"
export { readStateFile, type StateFile, type StateFileError } from "./stateFile.ts"
