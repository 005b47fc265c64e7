// Zylin's browser phone, page side: starts a call, speaks Twilio's Media Streams protocol on
// the call's WebSocket (connected, start, media, mark echoes, stop), and shows the live
// transcript. Every text from the server is put on the page as text, never as HTML.
"use strict";

(() => {
  const root = document.getElementById("phone");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const callButton = $("call");
  const hangupButton = $("hangup");
  const statusLine = $("status");
  const problem = $("problem");
  const transcript = $("transcript");
  const empty = $("empty");
  const record = $("record");
  const recordLink = $("record-link");
  let call = null;

  const setStatus = (text) => {
    statusLine.textContent = text;
  };
  const showProblem = (text) => {
    problem.textContent = text || "";
    problem.hidden = !text;
  };

  function addLine(role, text, start) {
    empty.hidden = true;
    const last = transcript.lastElementChild;
    if (last && last.dataset.role === role && !start) {
      last.querySelector(".bubble").textContent += " " + text;
      return;
    }
    const item = document.createElement("li");
    item.className = "turn " + (role === "zylin" ? "bot" : "caller");
    item.dataset.role = role;
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = role === "zylin" ? "Zylin" : "You";
    const bubble = document.createElement("p");
    bubble.className = "bubble";
    bubble.textContent = text;
    item.append(who, bubble);
    transcript.append(item);
    item.scrollIntoView({ block: "nearest" });
  }

  function markCut() {
    const bots = transcript.querySelectorAll("li.bot");
    if (bots.length > 0) bots[bots.length - 1].classList.add("cut");
  }

  const toBase64 = (bytes) => {
    let text = "";
    for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  };
  const fromBase64 = (text) => {
    const raw = atob(text);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  };

  async function startCall() {
    showProblem("");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.AudioWorkletNode) {
      showProblem(
        "This browser cannot use the microphone here: open the dashboard over https " +
          "(or on localhost) in a current browser.",
      );
      return;
    }
    callButton.disabled = true;
    record.hidden = true;
    transcript.replaceChildren();
    empty.hidden = false;
    setStatus("Starting…");
    const current = { ended: false, sent: 0, started: 0 };
    call = current;
    try {
      current.audio = new AudioContext();
      await current.audio.audioWorklet.addModule("/dashboard/static/phone-worklet.js");
      current.microphone = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (error) {
      const why = error && error.name === "NotAllowedError"
        ? "Allow this page to use the microphone, then call again."
        : "The microphone or audio could not start (" + (error && error.name) + ").";
      finish(current, why);
      return;
    }
    if (current.ended) return;
    let started;
    try {
      const response = await fetch("/dashboard/phone/calls", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-Zylin-CSRF": root.dataset.csrf },
      });
      started = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(started.error || "The server said " + response.status);
    } catch (error) {
      finish(current, "The call could not start: " + error.message);
      return;
    }
    if (current.ended) return;
    current.callSid = started.call_sid;
    current.streamSid = started.stream_sid;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + started.stream_path);
    current.socket = socket;
    socket.onopen = () => connected(current);
    socket.onmessage = (event) => received(current, event.data);
    socket.onclose = (event) => closed(current, event);
  }

  function closed(current, event) {
    if (current.hungUp) return finish(current, null, "You hung up.");
    if (!current.opened) return finish(current, "The call could not connect: sign in again and retry.");
    const why = event.reason ? " (" + event.reason + ")" : "";
    if (event.code === 1000 || event.code === 1005) return finish(current, null, "Zylin ended the call.");
    if (event.code === 1013) return finish(current, "The server is busy or restarting" + why + ".");
    if (event.code === 1008) return finish(current, "The call was refused" + why + ".");
    finish(current, "The connection was lost (" + event.code + ").");
  }

  function send(current, message) {
    if (current.socket && current.socket.readyState === WebSocket.OPEN) {
      current.socket.send(JSON.stringify({ ...message, streamSid: current.streamSid }));
    }
  }

  function connected(current) {
    current.opened = true;
    current.started = performance.now();
    send(current, { event: "connected", protocol: "Call", version: "1.0.0" });
    send(current, {
      event: "start",
      sequenceNumber: "1",
      start: {
        streamSid: current.streamSid,
        callSid: current.callSid,
        accountSid: "",
        tracks: ["inbound"],
        customParameters: {},
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
      },
    });
    const node = new AudioWorkletNode(current.audio, "zylin-phone", {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      channelCount: 1,
      channelCountMode: "explicit",
    });
    current.node = node;
    node.port.onmessage = (event) => fromWorklet(current, event.data);
    current.source = current.audio.createMediaStreamSource(current.microphone);
    current.source.connect(node);
    node.connect(current.audio.destination);
    current.audio.resume();
    hangupButton.disabled = false;
    setStatus("Connected: Zylin answers in a moment.");
  }

  function fromWorklet(current, message) {
    if (message.type === "media") {
      current.sent += 1;
      send(current, {
        event: "media",
        sequenceNumber: String(current.sent + 1),
        media: {
          track: "inbound",
          chunk: String(current.sent),
          timestamp: String(Math.round(performance.now() - current.started)),
          payload: toBase64(new Uint8Array(message.bytes)),
        },
      });
    } else if (message.type === "played") {
      send(current, { event: "mark", mark: { name: message.name } });
    } else if (message.type === "cut") {
      markCut(); // the caller spoke over Zylin: the rest of that line was never played
    } else if (message.type === "playing" && !current.ended) {
      setStatus(message.playing ? "Zylin is speaking…" : "Listening…");
    }
  }

  function received(current, data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || !current.node) return;
    if (message.event === "media" && message.media && typeof message.media.payload === "string") {
      const bytes = fromBase64(message.media.payload);
      current.node.port.postMessage({ type: "media", bytes: bytes.buffer }, [bytes.buffer]);
    } else if (message.event === "mark" && message.mark) {
      current.node.port.postMessage({ type: "mark", name: String(message.mark.name) });
    } else if (message.event === "clear") {
      current.node.port.postMessage({ type: "clear" });
    } else if (message.event === "transcript" && typeof message.text === "string") {
      addLine(message.role === "zylin" ? "zylin" : "caller", message.text, Boolean(message.start));
    }
  }

  function hangUp() {
    const current = call;
    if (!current || current.ended) return;
    current.hungUp = true;
    send(current, { event: "stop", stop: { callSid: current.callSid } });
    if (current.socket) current.socket.close(1000, "caller hung up");
    finish(current, null, "You hung up.");
  }

  function finish(current, why, said) {
    if (current.ended) return;
    current.ended = true;
    if (current.node) {
      current.node.port.postMessage({ type: "stop" });
      current.node.disconnect();
    }
    if (current.source) current.source.disconnect();
    if (current.microphone) current.microphone.getTracks().forEach((track) => track.stop());
    if (current.audio) current.audio.close().catch(() => {});
    if (current.socket && current.socket.readyState <= WebSocket.OPEN) current.socket.close(1000);
    if (call === current) call = null;
    callButton.disabled = false;
    hangupButton.disabled = true;
    showProblem(why);
    setStatus(said || "Ready.");
    if (current.callSid && current.opened) showRecord(current.callSid);
  }

  function showRecord(callSid) {
    recordLink.href = "/dashboard/phone/calls/" + encodeURIComponent(callSid);
    recordLink.textContent = "this call in Calls";
    record.hidden = false;
  }

  callButton.addEventListener("click", startCall);
  hangupButton.addEventListener("click", hangUp);
  window.addEventListener("pagehide", hangUp);
})();
