# The designer's web sources, relative to designer/: the build re-runs `npm run build` when any
# of them changes (pipeline/designer/designer.cmake). Keep this list in step with src/.
set(IOMT_DESIGNER_WEB_SOURCES
  package.json
  package-lock.json
  tsconfig.json
  vite.config.ts
  index.html
  src/main.ts
  src/identity.ts
  src/api.ts
  src/editors.ts
  src/files.ts
  src/diagnostics.ts
  src/messages.ts
  src/results.ts
  src/chart.ts
  src/tree.ts
  src/suggest.ts
  src/lenient.ts
  src/live.ts
  src/style.css)
