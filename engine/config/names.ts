/**
 * What may be a target name. A target's name becomes a folder (reports/<name>/) and a file in the
 * cache (refs/<name>.json), so it must be one plain path segment: `.`, `..`, separators and
 * leading dashes or dots are refused (`run ..` once tried to move reports/ into the project's parent).
 */
const TARGET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

/** Undefined when `name` is a usable target name, else why not. */
export function targetNameProblem(name: string): string | undefined {
  if (TARGET_NAME.test(name)) return undefined;
  const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}...` : name);
  return `${shown} is not a target name: a target name is 1-100 letters, digits, _, - and ., starting with a letter, digit or _`;
}
