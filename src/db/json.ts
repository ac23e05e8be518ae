/**
 * JSON-shaped values as stored in IndexedDB and written to bundles. Configs and settings are kept as plain
 * JSON so they survive structured cloning, export and import unchanged.
 *
 * `undefined` is allowed as an object member (TypeScript's optional properties produce it); it is dropped
 * when a row is written to a bundle, exactly like JSON.stringify does.
 */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue | undefined;
}
