// Files imported `with { type: "file" }` (src/embedded/assets.ts): the import is the file's path.
declare module "*.wasm" {
  const path: string;
  export default path;
}
declare module "*.data" {
  const path: string;
  export default path;
}
declare module "*.tar.gz" {
  const path: string;
  export default path;
}
