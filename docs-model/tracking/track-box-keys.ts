/**
 * One box per track, label and frame: what every tracking metric takes as given (TrackEval refuses
 * a tracker that "predicts the same ID more than once in a single timestep", and `buildSequences`
 * refuses it too). The JSON, COCO-results and CSV readers of a run's detections check it as they read
 * (the MOTChallenge reader refuses an id twice on a frame itself), so a tracker's output is refused
 * where the repeat is written, not at every evaluation after.
 *
 *   const keys = new TrackBoxKeys<number>()
 *   keys.add('car', 12, '7', line)      // → undefined the first time
 *   keys.add('car', 12, '7', line2)     // → line: where the same track's box on that frame was first
 */
export class TrackBoxKeys<Place> {
  private readonly places = new Map<string, Place>();

  /** Notes the box; the place of an earlier box of the same track, label and frame, if any. No track id, no key. */
  add(label: string, frame: number, trackId: string | null, place: Place): Place | undefined {
    if (trackId === null) return undefined;
    const key = `${frame}\u0000${label}\u0000${trackId}`;
    const earlier = this.places.get(key);
    if (earlier !== undefined) return earlier;
    this.places.set(key, place);
    return undefined;
  }
}

/** The message of a repeated box, the same from every reader; `on` names the frame as the reader's input does ('frame 12', 'image_id 13'). */
export const repeatedTrackBox = (box: { trackId: string; label: string; on: string }, earlier: string): string =>
  `track '${box.trackId}' already has a '${box.label}' box on ${box.on} (${earlier}): a tracker gives one box per track per frame`;
