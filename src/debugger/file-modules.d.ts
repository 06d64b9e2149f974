// The prebuilt UI files src/debugger/embedded.ts imports `with { type: "file" }`: each import is
// the file's path (on disk from source, under /$bunfs/ in the binary).
declare module "*/dist/ui/app.js" {
  const path: string;
  export default path;
}
declare module "*/dist/ui/app.css" {
  const path: string;
  export default path;
}
declare module "*/dist/ui/index.html" {
  const path: string;
  export default path;
}
