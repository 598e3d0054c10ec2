/**
 * The README's TypeScript examples that are whole files: each ```ts block whose first line is a
 * comment naming the file (`// main.ts: ...`), by file name. Other blocks are left out.
 */
export function readmeFiles(readme: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const m of readme.matchAll(/^```ts\n(\/\/ ([\w.-]+\.ts)\b[^\n]*\n[\s\S]*?)^```$/gm)) {
    const [, code, name] = m as unknown as [string, string, string];
    if (files.has(name)) throw new Error(`README names ${name} twice`);
    files.set(name, code);
  }
  return files;
}
