import type { EventBus } from '../report/events.js';

/** Engine output of one image (or the base image's log), as log events. */
export function logTo(events: EventBus, name: string): (line: string) => void {
  return (line) => events.emit({ type: 'image', reason: 'log', name, line });
}
