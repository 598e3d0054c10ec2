/** The `default:` of an exhaustive switch: the type checker proves it unreachable; at run time it names what slipped through. */
export function unreachable(x: never, where: string): never {
  throw new Error(`${where}: unhandled ${JSON.stringify(x)}`);
}
