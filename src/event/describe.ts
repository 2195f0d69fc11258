/**
 * Naming a bad argument in an error message.
 *
 * @module
 */

/** `value` for a message: its type, and the value itself for primitives. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`;
  return `${typeof value} \`${String(value)}\``;
}
