/**
 * A tiny JSON Schema (2020-12) validator for the keywords docs/connectivity.schema.json uses:
 * type (one or a list), const, enum, required, properties, additionalProperties (false or a
 * schema), items, minItems, minimum, minLength, pattern, and local `$ref`s (`#/$defs/…`).
 * Any other keyword is refused up front, so the schema cannot silently say more than is checked.
 */

export type JsonSchema = { [keyword: string]: unknown };

const SUPPORTED = new Set([
  '$schema',
  '$id',
  'title',
  'description',
  '$defs',
  '$ref',
  'type',
  'const',
  'enum',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'minItems',
  'minimum',
  'minLength',
  'pattern',
]);

export class JsonSchemaValidator {
  constructor(private readonly root: JsonSchema) {
    this.#checkKeywords(root, '#');
  }

  /** Every violation as "path: message"; empty when the value is valid. */
  validate(value: unknown): string[] {
    const errors: string[] = [];
    this.#validate(this.root, value, '$', errors);
    return errors;
  }

  #checkKeywords(schema: unknown, at: string): void {
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return;
    for (const [k, v] of Object.entries(schema)) {
      if (!SUPPORTED.has(k)) throw new Error(`${at}: unsupported JSON Schema keyword "${k}"`);
      if (k === 'properties' || k === '$defs') for (const [name, sub] of Object.entries(v as object)) this.#checkKeywords(sub, `${at}/${k}/${name}`);
      if (k === 'items' || k === 'additionalProperties') this.#checkKeywords(v, `${at}/${k}`);
    }
  }

  #resolve(ref: string): JsonSchema {
    if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, got ${ref}`);
    let node: unknown = this.root;
    for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown>)?.[part];
    if (typeof node !== 'object' || node === null) throw new Error(`unresolved $ref ${ref}`);
    return node as JsonSchema;
  }

  #validate(schema: JsonSchema, value: unknown, path: string, errors: string[]): void {
    if (typeof schema['$ref'] === 'string') return this.#validate(this.#resolve(schema['$ref']), value, path, errors);
    if ('const' in schema && !deepEqual(schema['const'], value)) errors.push(`${path}: must be ${JSON.stringify(schema['const'])}`);
    if (Array.isArray(schema['enum']) && !schema['enum'].some((e) => deepEqual(e, value))) {
      errors.push(`${path}: must be one of ${schema['enum'].map((e) => JSON.stringify(e)).join(', ')}`);
    }
    if (schema['type'] !== undefined) {
      const types = Array.isArray(schema['type']) ? (schema['type'] as string[]) : [schema['type'] as string];
      if (!types.some((t) => isType(value, t))) {
        errors.push(`${path}: must be ${types.join(' or ')}`);
        return;
      }
    }
    if (typeof value === 'string') {
      if (typeof schema['minLength'] === 'number' && [...value].length < schema['minLength']) errors.push(`${path}: shorter than ${schema['minLength']}`);
      if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern'], 'u').test(value)) errors.push(`${path}: does not match ${schema['pattern']}`);
    }
    if (typeof value === 'number' && typeof schema['minimum'] === 'number' && value < schema['minimum']) errors.push(`${path}: less than ${schema['minimum']}`);
    if (Array.isArray(value)) {
      if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) errors.push(`${path}: fewer than ${schema['minItems']} items`);
      if (schema['items'] !== undefined) value.forEach((v, i) => this.#validate(schema['items'] as JsonSchema, v, `${path}[${i}]`, errors));
    }
    if (isType(value, 'object')) {
      const obj = value as Record<string, unknown>;
      for (const key of (schema['required'] as string[] | undefined) ?? []) if (!(key in obj)) errors.push(`${path}: missing "${key}"`);
      const props = (schema['properties'] as Record<string, JsonSchema> | undefined) ?? {};
      for (const [key, v] of Object.entries(obj)) {
        const sub = props[key];
        if (sub) this.#validate(sub, v, `${path}.${key}`, errors);
        else if (schema['additionalProperties'] === false) errors.push(`${path}: unexpected property "${key}"`);
        else if (typeof schema['additionalProperties'] === 'object') this.#validate(schema['additionalProperties'] as JsonSchema, v, `${path}.${key}`, errors);
      }
    }
  }
}

function isType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'null':
      return value === null;
    case 'string':
    case 'boolean':
      return typeof value === type;
    default:
      throw new Error(`unknown JSON Schema type "${type}"`);
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
