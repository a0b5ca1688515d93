/** From model bytes to everything the webview needs: parse, detect the ViT, instrument, pick the card. */
import { ModelFormatError } from './errors';
import { instrumentAttention } from './instrumentAttention';
import { cardFromHuggingFace, cardFromJson, defaultCard, ModelCard } from './modelCard';
import { GraphIndex } from './onnx/graphIndex';
import { readOnnxModel, tensorValues, TensorDataType } from './onnx/onnxModel';
import type { ModelPayload } from './protocol';
import { detectVit } from './vitStructure';

type Json = Record<string, unknown>;

/** Card sources found beside the model file. */
export interface CardFiles {
  own?: Json;
  hfConfig?: Json;
  hfPreprocessor?: Json;
}

export type PreparedModel = ModelPayload & { bytes: Uint8Array };

export function prepareModel(bytes: Uint8Array, fileName: string, key: string, cards: CardFiles = {}, attentionBudgetBytes = Infinity): PreparedModel {
  const model = readOnnxModel(bytes);
  const structure = detectVit(model);
  // Attention comes out in the precision the graph computes it in (fp16 models: float16).
  const elemType = model.graph.valueInfo.get(structure.attention[0].tensor)?.elemType ?? model.graph.inputs.find((i) => i.name === structure.input.name)?.elemType ?? TensorDataType.FLOAT;
  const inst = instrumentAttention(structure, model.graph.outputs.map((o) => o.name), elemType, attentionBudgetBytes);
  const externalData = [...new Set([...model.graph.initializers.values()].map((t) => t.external?.location).filter((l): l is string => !!l))];
  const base = defaultCard(fileName.replace(/\.onnx$/i, ''), structure);
  let card: ModelCard = base;
  if (cards.own) card = cardFromJson(cards.own, base);
  else if (cards.hfConfig || cards.hfPreprocessor) card = cardFromHuggingFace(cards.hfConfig, cards.hfPreprocessor, base);
  const fixed = structure.input.height;
  if (fixed && (card.preprocess.size !== fixed || (structure.input.width && structure.input.width !== fixed))) {
    throw new ModelFormatError(
      `The model card asks for ${card.preprocess.size}×${card.preprocess.size} input, but the graph's input is fixed at ${fixed}×${structure.input.width ?? fixed}` +
      `${structure.swin ? ' (Swin window and mask shapes are baked into the graph at that size)' : ''}. Fix "preprocess.size" in ${cardFileName(fileName)}.`,
    );
  }
  const g = new GraphIndex(model.graph);
  const filters = g.constant(structure.parameters.patchWeight);
  const pos = structure.parameters.positionEmbedding ? g.constant(structure.parameters.positionEmbedding) : undefined;
  const parameters = {
    patchFilters: filters && !filters.external ? { shape: filters.dims, data: Float32Array.from(tensorValues(filters)) } : undefined,
    positionEmbedding: pos && !pos.external ? { tokens: pos.dims[pos.dims.length - 2], width: pos.dims[pos.dims.length - 1], data: Float32Array.from(tensorValues(pos)) } : undefined,
  };
  return {
    key,
    parameters,
    fileName,
    fileSize: bytes.byteLength,
    bytes,
    graphPatch: inst.graphPatch,
    structure,
    card,
    attentionOutputs: inst.attentionOutputs,
    logitsOutput: inst.logitsOutput,
    featureOutput: inst.featureOutput,
    attentionMode: inst.attentionMode,
    attentionBudgetBytes: Number.isFinite(attentionBudgetBytes) ? attentionBudgetBytes : undefined,
    rolloutOutputs: inst.rolloutOutputs,
    distanceOutputs: inst.distanceOutputs,
    externalDataFiles: externalData.length ? externalData : undefined,
  };
}

/** The card file name ViT Lens looks for beside `model.onnx`. */
export function cardFileName(modelFileName: string): string {
  return modelFileName.replace(/\.onnx$/i, '') + '.json';
}

/** Refuses, before reading it, a model the webview could not hold (its bytes are copied into the page and the worker). */
export function checkModelSize(bytes: number, limitMB: number): void {
  if (bytes > limitMB * 1e6) {
    throw new ModelFormatError(`The model is ${(bytes / 1e6).toFixed(0)} MB, over the ${limitMB} MB that ViT Lens loads into a webview (setting vitLens.maxModelSizeMB); it was not loaded.`, 'Raise vitLens.maxModelSizeMB if this machine has the memory, or export a smaller or quantized model.');
  }
}
