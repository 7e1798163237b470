/**
 * Resolves when a stream that refused a write can take more ('drain'), or never will ('error',
 * 'close'); the caller checks which. Unlike events.once(stream, 'drain'), an 'error' resolves
 * instead of rejecting (the stream's own error listener reports it), and the listeners are removed
 * again, so waiting on every chunk of a large write adds none.
 */
export function drained(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('error', done);
    stream.on('close', done);
  });
}
