/** From model bytes to everything the webview needs: parse, detect the ViT, instrument, pick the card. */
import { ModelFormatError } from './errors';
import { instrumentAttention } from './instrumentAttention';
import { t } from './l10n';
import { cardFromHuggingFace, cardFromJson, cardFromTimm, configKind, defaultCard, describeInputSize, inputSize, ModelCard } from './modelCard';
import { GraphIndex } from './onnx/graphIndex';
import { readOnnxModel, tensorValues, TensorDataType } from './onnx/onnxModel';
import type { ModelPayload } from './protocol';
import { detectVit } from './vitStructure';
import { atGrid, interpolatesPositions } from './anySize';

type Json = Record<string, unknown>;

/** Card sources found beside the model file. */
export interface CardFiles {
  /** Our card, `<model>.json`. */
  own?: Json;
  /** config.json: timm's or Hugging Face's (told apart by content). */
  config?: Json;
  /** Hugging Face's preprocessor_config.json. */
  preprocessor?: Json;
}

/**
 * The card from what lies beside the model, in this precedence: our card, timm's config.json, Hugging
 * Face's preprocessor_config.json (+ config.json labels), defaults. Each source overrides only the fields
 * it gives, and records where each setting came from.
 */
export function chooseCard(base: ModelCard, cards: CardFiles, fileName: string): ModelCard {
  let card = base;
  const kind = cards.config ? configKind(cards.config) : undefined;
  if (cards.preprocessor || kind === 'huggingface') card = cardFromHuggingFace(kind === 'huggingface' ? cards.config : undefined, cards.preprocessor, card);
  if (kind === 'timm' && cards.config) card = cardFromTimm(cards.config, card);
  if (cards.own) card = cardFromJson(cards.own, card, cardFileName(fileName));
  return card;
}

export type PreparedModel = ModelPayload & { bytes: Uint8Array };

export function prepareModel(bytes: Uint8Array, fileName: string, key: string, cards: CardFiles = {}, attentionBudgetBytes = Infinity): PreparedModel {
  const model = readOnnxModel(bytes);
  const detected = detectVit(model);
  const g = new GraphIndex(model.graph);
  if (interpolatesPositions(g, detected)) detected.input.anySize = true;
  const base = defaultCard(fileName.replace(/\.onnx$/i, ''), detected);
  const card = chooseCard(base, cards, fileName);
  // A graph of any height and width runs on the card's grid (the position embedding's own unless a config says otherwise).
  const dynamicHW = detected.input.height === undefined && detected.input.width === undefined && !detected.swin;
  const structure = dynamicHW ? atGrid(detected, inputSize(card.preprocess).height, inputSize(card.preprocess).width) : detected;
  // Attention comes out in the precision the graph computes it in (fp16 models: float16).
  const elemType = model.graph.valueInfo.get(structure.attention[0].tensor)?.elemType ?? model.graph.inputs.find((i) => i.name === structure.input.name)?.elemType ?? TensorDataType.FLOAT;
  const inst = instrumentAttention(structure, model.graph.outputs.map((o) => o.name), elemType, attentionBudgetBytes);
  const externalData = [...new Set([...model.graph.initializers.values()].map((x) => x.external?.location).filter((l): l is string => !!l))];
  const want = inputSize(card.preprocess);
  const { height: fixedH, width: fixedW } = structure.input;
  if ((fixedH && fixedH !== want.height) || (fixedW && fixedW !== want.width)) {
    // Name only the file the size came from: a card that does not exist is not blamed.
    const from = card.preprocess.sources?.size ?? t('the model card');
    const graph = `${fixedW ?? t('any')}×${fixedH ?? t('any')}`;
    const size = fixedH && fixedW ? (fixedH === fixedW ? String(fixedH) : `[${fixedH}, ${fixedW}]`) : undefined;
    const wanted = describeInputSize(card.preprocess);
    // JSON to paste, not prose; an argument because literal braces in a message would break its {n} placeholders.
    const json = `"preprocess": { "size": ${size} }`;
    throw new ModelFormatError(
      structure.swin
        ? t`${from} asks for a ${wanted} input, but the graph's input is fixed at ${graph} (width×height) (Swin window and mask shapes are baked into the graph at that size).`
        : t`${from} asks for a ${wanted} input, but the graph's input is fixed at ${graph} (width×height).`,
      size
        ? t`Fix the size in ${from}, or put a card ${cardFileName(fileName)} beside the model with ${json} (a card takes precedence over config files).`
        : t`Fix the size in ${from}.`,
    );
  }
  const filters = g.constant(structure.parameters.patchWeight);
  const pos = structure.parameters.positionEmbedding ? g.constant(structure.parameters.positionEmbedding) : undefined;
  const parameters = {
    // A hybrid's projection weights read CNN features, not pixels: they are no RGB patch filters.
    patchFilters: filters && !filters.external && !structure.stem ? { shape: filters.dims, data: Float32Array.from(tensorValues(filters)) } : undefined,
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
    tokenNormOutputs: inst.tokenNormOutputs,
    residualShapeOutputs: inst.residualShapeOutputs,
    mapProbeOutput: inst.mapProbeOutput,
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
    throw new ModelFormatError(t`The model is ${(bytes / 1e6).toFixed(0)} MB, over the ${limitMB} MB that ViT Lens loads into a webview (setting vitLens.maxModelSizeMB); it was not loaded.`, t('Raise vitLens.maxModelSizeMB if this machine has the memory, or export a smaller or quantized model.'));
  }
}
