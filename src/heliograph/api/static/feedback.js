/*
 * Heliograph feedback widget: thumbs up or down and a comment, sent with a signed feedback link.
 *
 * Embed it with the token your server got from POST /v1/session/{sessionId}/feedback-link:
 *
 *   <div id="feedback"></div>
 *   <script src="https://heliograph.example.com/static/feedback.js"
 *           data-token="TOKEN" data-target="#feedback"></script>
 *
 * or mount it yourself: HeliographFeedback.mount(element, {token: "TOKEN", server: "https://…"}).
 * The token is the only credential; no API key ever reaches the browser. See docs/feedback.md.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var defaultServer = script && script.src ? new URL(script.src).origin : window.location.origin;

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text) node.textContent = text;
    return node;
  }

  function mount(target, options) {
    var server = (options.server || defaultServer).replace(/\/$/, "");
    var endpoint = server + "/v1/feedback/public/" + encodeURIComponent(options.token);
    var chosen = null;

    var form = el("form", { class: "heliograph-feedback", "aria-label": "Feedback" });
    var up = el("button", { type: "button", "aria-label": "Thumbs up", "aria-pressed": "false" }, "\uD83D\uDC4D");
    var down = el("button", { type: "button", "aria-label": "Thumbs down", "aria-pressed": "false" }, "\uD83D\uDC4E");
    var comment = el("textarea", { "aria-label": "Comment", maxlength: "4000", rows: "3", placeholder: "Tell us why (optional)" });
    var send = el("button", { type: "submit" }, "Send feedback");
    var status = el("p", { role: "status", "aria-live": "polite" });
    [up, down, comment, send, status].forEach(function (node) {
      form.appendChild(node);
    });
    target.appendChild(form);

    function choose(value) {
      chosen = value;
      up.setAttribute("aria-pressed", String(value === true));
      down.setAttribute("aria-pressed", String(value === false));
    }
    up.addEventListener("click", function () { choose(true); });
    down.addEventListener("click", function () { choose(false); });

    fetch(endpoint).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          status.textContent = body.error || "This feedback link cannot be used";
          send.disabled = true;
        }
      });
    }).catch(function () {
      status.textContent = "Feedback is unavailable right now";
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (chosen === null) {
        status.textContent = "Choose thumbs up or down first";
        return;
      }
      var body = { value: chosen };
      if (comment.value.trim()) body.comment = comment.value.trim();
      send.disabled = true;
      fetch(endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }).then(function (response) {
        return response.json().then(function (answer) {
          status.textContent = response.ok ? "Thanks for your feedback" : answer.error || "Not sent";
        });
      }).catch(function () {
        status.textContent = "Not sent: the server could not be reached";
      }).then(function () {
        send.disabled = false;
      });
    });
    return form;
  }

  window.HeliographFeedback = { mount: mount };

  if (script && script.dataset.token) {
    var start = function () {
      var target = script.dataset.target ? document.querySelector(script.dataset.target) : null;
      if (!target) {
        target = el("div");
        script.parentNode.insertBefore(target, script.nextSibling);
      }
      mount(target, { token: script.dataset.token, server: script.dataset.server });
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})();
