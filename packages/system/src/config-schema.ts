/**
 * A small checker for the config file's JSON: every unknown key and every wrong type is named
 * with its path (`gfs.chunkservers[2].rack`), all at once, so one run shows every problem.
 */
export type Spec =
  | { kind: 'string'; pattern?: RegExp; what?: string }
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'number' }
  | { kind: 'boolean' }
  | { kind: 'list'; of: Spec; minItems: number; maxItems: number }
  /** `replaced` names keys of older versions, each with what to write instead. */
  | { kind: 'object'; fields: Record<string, Spec>; replaced?: Record<string, string> };

/** An object whose keys are those of `defaults`, each optional and of the type of its default. */
export function partialOf(defaults: object): Spec {
  const fields: Record<string, Spec> = {};
  for (const [key, value] of Object.entries(defaults)) fields[key] = typeof value === 'boolean' ? { kind: 'boolean' } : { kind: 'number' };
  return { kind: 'object', fields };
}

export function checkValue(value: unknown, spec: Spec, path: string, problems: string[]): void {
  const at = path === '' ? 'the config' : path;
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string') problems.push(`${at} must be a string, got ${show(value)}`);
      else if (spec.pattern && !spec.pattern.test(value)) problems.push(`${at} must be ${spec.what ?? `like ${spec.pattern}`}, got ${show(value)}`);
      return;
    case 'integer':
      if (!Number.isSafeInteger(value) || (value as number) < spec.min || (value as number) > spec.max) {
        problems.push(`${at} must be an integer from ${spec.min} to ${spec.max}, got ${show(value)}`);
      }
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) problems.push(`${at} must be a number, got ${show(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${at} must be true or false, got ${show(value)}`);
      return;
    case 'list':
      if (!Array.isArray(value)) return void problems.push(`${at} must be a list, got ${show(value)}`);
      if (value.length < spec.minItems || value.length > spec.maxItems) problems.push(`${at} must have ${spec.minItems} to ${spec.maxItems} items, got ${value.length}`);
      value.forEach((item, i) => checkValue(item, spec.of, `${path}[${i}]`, problems));
      return;
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return void problems.push(`${at} must be an object, got ${show(value)}`);
      for (const [key, item] of Object.entries(value)) {
        const field = spec.fields[key];
        const where = path === '' ? key : `${path}.${key}`;
        const instead = spec.replaced?.[key];
        if (field) checkValue(item, field, where, problems);
        else if (instead !== undefined) problems.push(`${where} is no longer read: ${instead}`);
        else problems.push(`unknown key ${where} (known here: ${Object.keys(spec.fields).join(', ')})`);
      }
      return;
    }
    default: {
      const never: never = spec;
      throw new Error(`unknown spec ${JSON.stringify(never)}`);
    }
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : JSON.stringify(value);
}
