// audio-decode lists a Monkey's Audio decoder that was never published; vite.config.ts points its
// import here, so an APE file fails with a clear reason instead of breaking the build.
throw new Error("Monkey's Audio (APE) files are not supported; convert to WAV or FLAC first");
