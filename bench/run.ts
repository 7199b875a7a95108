// `npm run bench -- [--json] [--quick]`: the engine benchmark (bench/engine.ts). Model and studio
// benchmarks have their own scripts: npm run bench:models, npm run bench:studio.
await import('./engine.js');
