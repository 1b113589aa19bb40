/**
 * A minimal browser annotator: the stock WebsocketProvider, the docs-model functions, presence
 * (who is on which frame) through awareness, and a truthful "saved" badge from durable acks.
 * Bundle it with esbuild (see index.html); `test/examples/examples.test.ts` checks it builds for
 * the browser.
 */
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { addAnnotation, getLabels, listAnnotations, type Annotation } from '../../docs-model/index.ts';
import { trackDurableAcks, type ProviderLike } from '../../docs-model/durable-acks.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function render(doc: Y.Doc, frame: number): void {
  const view = $('frame');
  view.replaceChildren();
  for (const annotation of listAnnotations(doc, { frame })) view.append(boxElement(annotation));
}

function boxElement(annotation: Annotation): HTMLElement {
  const [x, y, w, h] = annotation.bbox;
  const el = document.createElement('div');
  el.className = 'box';
  Object.assign(el.style, { left: `${x / 3}px`, top: `${y / 3}px`, width: `${w / 3}px`, height: `${h / 3}px` });
  el.textContent = annotation.label;
  return el;
}

$('connect').addEventListener('click', () => {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider($<HTMLInputElement>('url').value, `session:${$<HTMLInputElement>('session').value}`, doc, {
    params: { token: $<HTMLInputElement>('token').value, acks: '1' },
  });
  const acks = trackDurableAcks(provider as unknown as ProviderLike);
  const frameInput = $<HTMLInputElement>('frameNo');
  const frame = () => Number(frameInput.value) || 0;
  acks.on('change', (unsaved) => ($('status').textContent = unsaved === 0 ? 'saved' : `${unsaved} edits not yet stored`));
  provider.on('status', ({ status }: { status: string }) => ($('status').textContent = status));
  provider.awareness.setLocalStateField('user', { name: 'browser', frame: frame() });
  frameInput.addEventListener('change', () => {
    provider.awareness.setLocalStateField('user', { name: 'browser', frame: frame() });
    render(doc, frame());
  });
  provider.awareness.on('change', () => {
    const people = [...provider.awareness.getStates().values()].map((s) => JSON.stringify((s as { user?: unknown }).user ?? {}));
    $('people').replaceChildren(...people.map((p) => Object.assign(document.createElement('li'), { textContent: p })));
  });
  doc.on('update', () => render(doc, frame()));
  $('frame').addEventListener('click', (event: MouseEvent) => {
    const label = Object.keys(getLabels(doc))[0];
    if (!label) return;
    addAnnotation(doc, { frame: frame(), bbox: [event.offsetX * 3, event.offsetY * 3, 90, 60], label, }, 'browser', Date.now(), { clip: true });
  });
});
