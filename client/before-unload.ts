/**
 * Warn before the page closes while edits exist only in this page's memory: not yet acknowledged
 * by the server, and not kept on the device either (a session opened with `offline: true` keeps
 * them in IndexedDB, so closing loses nothing there).
 *
 *   const stop = warnBeforeUnload(session)   // browsers show their own "leave site?" dialog
 */
import type { AnnotationSession } from './session.ts';

export function warnBeforeUnload(
  session: Pick<AnnotationSession, 'acks' | 'keepsEditsOnDevice'>,
  target: Pick<Window, 'addEventListener' | 'removeEventListener'> = window,
): () => void {
  const onBeforeUnload = (event: BeforeUnloadEvent) => {
    if (session.acks.unsavedCount === 0 || session.keepsEditsOnDevice) return;
    event.preventDefault();
    // Older browsers show the dialog only when returnValue is set.
    event.returnValue = '';
  };
  target.addEventListener('beforeunload', onBeforeUnload);
  return () => target.removeEventListener('beforeunload', onBeforeUnload);
}
