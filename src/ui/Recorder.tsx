import { useEffect, useRef, useState } from 'react';
import { formatTime } from '../analysis/time';

/** Records from the microphone with a live level meter and a timer; hands back a File when stopped. */
export function Recorder({
  label,
  onRecorded,
  disabled,
}: {
  label: string;
  onRecorded: (f: File) => void;
  disabled?: boolean;
}) {
  const [state, setState] = useState<'idle' | 'recording'>('idle');
  const [level, setLevel] = useState(0);
  const [seconds, setSeconds] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const stopRef = useRef<(() => void) | null>(null);

  useEffect(() => () => stopRef.current?.(), []);

  async function start() {
    setError(null);
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch (e) {
      setError(
        `The microphone is not available (${(e as Error).message}). Allow microphone access for this page, or drop a file instead.`,
      );
      return;
    }
    const recorder = new MediaRecorder(stream);
    const chunks: Blob[] = [];
    recorder.ondataavailable = (e) => {
      if (e.data.size) chunks.push(e.data);
    };
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    const t0 = performance.now();
    let raf = 0;
    const tick = () => {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      setLevel(Math.sqrt(sum / buf.length));
      setSeconds((performance.now() - t0) / 1000);
      raf = requestAnimationFrame(tick);
    };
    tick();
    recorder.onstop = () => {
      cancelAnimationFrame(raf);
      stream.getTracks().forEach((t) => t.stop());
      void ctx.close();
      setState('idle');
      setLevel(0);
      const type = recorder.mimeType || 'audio/webm';
      const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
      if (chunks.length)
        onRecorded(new File(chunks, `recording-${stamp}.${type.includes('ogg') ? 'ogg' : 'webm'}`, { type }));
      else setError('The recording is empty.');
    };
    stopRef.current = () => {
      if (recorder.state !== 'inactive') recorder.stop();
    };
    recorder.start(250);
    setState('recording');
  }

  const db = level > 0 ? 20 * Math.log10(level) : -Infinity;
  return (
    <div className="recorder">
      {state === 'idle' ? (
        <button type="button" onClick={start} disabled={disabled}>
          Record {label}
        </button>
      ) : (
        <button type="button" className="stop" onClick={() => stopRef.current?.()}>
          Stop recording
        </button>
      )}
      {state === 'recording' && (
        <span className="meter-wrap">
          <meter
            min={-60}
            max={0}
            low={-30}
            high={-6}
            optimum={-18}
            value={Math.max(-60, db)}
            aria-label="Input level"
          />
          <span>{Number.isFinite(db) ? `${db.toFixed(0)} dBFS` : 'silence'}</span>
          <span aria-live="polite" data-testid="record-clock" data-value={String(seconds)}>
            {formatTime(seconds, 'down')}
          </span>
        </span>
      )}
      {error && (
        <p className="error" role="alert" data-testid="error">
          {error}
        </p>
      )}
    </div>
  );
}
