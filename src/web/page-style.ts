/** The page's style sheet, served at `/rtc-peer.css`. */

/** CSS of the page: a dark video area and a stats column, readable on a phone too. */
export const PAGE_STYLE = `:root {
  color-scheme: dark;
  font-family: system-ui, sans-serif;
  font-size: 15px;
  background: #111;
  color: #ddd;
}
body { margin: 0; padding: 12px 16px; }
header { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; }
h1 { font-size: 1.3rem; margin: 0; }
#who { margin: 0; color: #aaa; }
#status { margin: 0; padding: 2px 10px; border-radius: 10px; background: #333; }
body[data-state='connected'] #status { background: #1d5e2b; }
body[data-state='error'] #status, body[data-state='failed'] #status { background: #7a1f1f; }
main { display: flex; gap: 16px; margin-top: 12px; flex-wrap: wrap; }
.videos { position: relative; flex: 1 1 480px; min-width: 320px; }
#remote { width: 100%; aspect-ratio: 4 / 3; max-height: calc(100vh - 120px); object-fit: contain; background: #000; display: block; }
#local { position: absolute; right: 8px; bottom: 8px; width: 25%; border: 1px solid #666; background: #000; }
#videos.solo #remote { display: none; }
#videos.solo #local { position: static; width: 100%; aspect-ratio: 4 / 3; max-height: calc(100vh - 120px); object-fit: contain; border: 0; }
#unmute { position: absolute; left: 8px; bottom: 8px; }
.side { flex: 0 1 320px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #2a2a2a; }
thead th { color: #aaa; font-weight: normal; }
button { margin: 10px 0; padding: 4px 14px; }
#data-form { display: flex; gap: 6px; }
#data-input { flex: 1; }
#data-log { font-family: ui-monospace, monospace; font-size: 12px; list-style: none; padding: 0; max-height: 160px; overflow: auto; }
#remote:focus { outline: 2px solid #3a7; }
#viewers { list-style: none; padding: 0; margin: 0 0 8px; color: #aaa; }
#log { font-family: ui-monospace, monospace; font-size: 12px; color: #aaa; list-style: none; padding: 0; max-height: 240px; overflow: auto; }
footer { margin-top: 16px; color: #888; font-size: 0.85rem; }
`;
