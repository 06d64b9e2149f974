// ui/main.ts imports its stylesheet; Bun's bundler emits it as app.css.
declare module "*.css";
