// Stands in for the @audio/decode-* packages of formats not decoded here (src/audio/formats.ts):
// vite.config.ts points their imports at this module, so they are not bundled, and a file that
// still reaches one fails with a clear reason (formats.ts refuses such files before decoding).
throw new Error('This audio format is not supported; convert to WAV or FLAC first');
