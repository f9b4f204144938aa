/**
 * The page's HTML, served at `/`. The script (src/web/page/, bundled into dist/web/page.js by the build) and
 * the style (page-style.ts) are separate files so the Content-Security-Policy can forbid inline code.
 */

/** The HTML document served at `/` and `/index.html`. Assets are relative, so a path prefix keeps working. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>rtc-peer</title>
    <link rel="stylesheet" href="rtc-peer.css" />
    <script src="rtc-peer.js" defer></script>
  </head>
  <body data-state="starting">
    <header>
      <h1>rtc-peer</h1>
      <p id="who">loading</p>
      <p id="status" role="status">starting</p>
    </header>
    <main>
      <section id="videos" class="videos">
        <video id="remote" autoplay playsinline tabindex="0" title="arrow keys send commands"></video>
        <video id="local" autoplay playsinline muted hidden></video>
        <button id="unmute" type="button" hidden>Unmute</button>
      </section>
      <section class="side">
        <table id="stats">
          <thead>
            <tr><th></th><th>receiving</th><th>sending</th></tr>
          </thead>
          <tbody>
            <tr><th>resolution</th><td id="in-resolution">-</td><td id="out-resolution">-</td></tr>
            <tr><th>frame rate</th><td id="in-fps">-</td><td id="out-fps">-</td></tr>
            <tr><th>bitrate</th><td id="in-bitrate">-</td><td id="out-bitrate">-</td></tr>
            <tr><th>frames</th><td id="in-frames">-</td><td id="out-frames">-</td></tr>
            <tr><th>packets lost</th><td id="in-lost">-</td><td id="out-lost">-</td></tr>
            <tr><th>audio</th><td id="in-audio">-</td><td id="out-audio">-</td></tr>
            <tr><th>round trip</th><td id="rtt" colspan="2">-</td></tr>
            <tr><th>connection</th><td id="connection" colspan="2">-</td></tr>
          </tbody>
        </table>
        <button id="hangup" type="button" disabled>Hang up</button>
        <ul id="viewers" hidden></ul>
        <form id="data-form" autocomplete="off">
          <input id="data-input" placeholder="message to the other side" disabled />
          <button id="data-send" type="submit" disabled>Send</button>
        </form>
        <ul id="data-log"></ul>
        <ul id="log"></ul>
      </section>
    </main>
    <footer>
      <code>?room=NAME</code> watches the caller in room NAME (several tabs can watch at once); add
      <code>&amp;role=call</code> to call with this browser's camera and microphone (it serves several
      viewers), and <code>#token=SECRET</code> when the server wants a token.
    </footer>
  </body>
</html>
`;
