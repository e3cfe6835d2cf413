import { useEffect, useRef, useState } from 'react';
import WaveSurfer from 'wavesurfer.js';

/** A clip's waveform with play/pause, click-to-seek and zoom (pixels per second, default fit). */
export function Waveform({ blob, label }: { blob: Blob; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const ws = useRef<WaveSurfer | null>(null);
  const [playing, setPlaying] = useState(false);
  const [zoom, setZoom] = useState(0);
  const [time, setTime] = useState('0.00');

  useEffect(() => {
    const w = WaveSurfer.create({
      container: box.current!,
      height: 72,
      waveColor: '#8aa4c8',
      progressColor: '#1f4e8c',
      cursorColor: '#b42318',
      normalize: true,
      dragToSeek: true,
    });
    ws.current = w;
    w.loadBlob(blob).catch(() => undefined); // undecodable in Web Audio: the error is shown by the scorer
    const offs = [
      w.on('play', () => setPlaying(true)),
      w.on('pause', () => setPlaying(false)),
      w.on('finish', () => setPlaying(false)),
      w.on('timeupdate', (t) => setTime(t.toFixed(2))),
    ];
    return () => {
      offs.forEach((off) => off());
      w.destroy();
      ws.current = null;
    };
  }, [blob]);

  useEffect(() => {
    if (ws.current?.getDuration()) ws.current.zoom(zoom);
  }, [zoom]);

  return (
    <div className="waveform">
      <div ref={box} aria-label={`Waveform of ${label}`} role="img" />
      <div className="wave-controls">
        <button type="button" onClick={() => ws.current?.playPause()}>
          {playing ? 'Pause' : 'Play'}
        </button>
        <span className="muted" aria-live="off">
          {time} s
        </span>
        <label>
          Zoom{' '}
          <input
            type="range"
            min={0}
            max={500}
            step={10}
            value={zoom}
            onChange={(e) => setZoom(Number(e.target.value))}
          />
        </label>
      </div>
    </div>
  );
}
