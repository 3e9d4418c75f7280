// The sender-domain pages' only script: copy buttons and the live preview of the hosts a change
// of settings would give. Everything works without it; these are conveniences. Data comes in
// through data- attributes, never through markup built here.
(function () {
  "use strict";

  function announce(text) {
    var region = document.getElementById("copy-status");
    if (region) {
      region.textContent = text;
    }
  }

  // The Clipboard API needs a secure context; on plain HTTP a selected textarea and "copy" work.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      document.body.appendChild(area);
      area.select();
      var copied = document.execCommand("copy");
      document.body.removeChild(area);
      if (copied) {
        resolve();
      } else {
        reject(new Error("copy refused"));
      }
    });
  }

  function setUpCopy(button) {
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = button.dataset.copyFrom
        ? document.getElementById(button.dataset.copyFrom).value
        : button.dataset.copy;
      copyText(text).then(function () {
        button.textContent = "Copied";
        announce("Copied to the clipboard.");
      }, function () {
        button.textContent = "Copy failed";
        announce("Could not copy: select the text and copy it yourself.");
      }).then(function () {
        window.setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  }

  // Mirrors the records' host patterns: _Subdomain_._SenderDomain_ and
  // _TrackPrefix__TrackMerge__Subdomain_._SenderDomain_, with the service's defaults for empty fields.
  function setUpPreview(form) {
    var settings = form.dataset;
    var subdomain = form.elements.CustomSubdomain;
    var prefix = form.elements.CustomTrackPrefix;
    var separate = form.elements.UseTrackingSubdomain;
    var mfrom = document.getElementById("preview-mfrom");
    var track = document.getElementById("preview-track");
    var warning = document.getElementById("regenerate-warning");

    function effective(value, fallback) {
      return value.trim() || fallback;
    }

    function update() {
      var label = effective(subdomain.value, settings.defaultSubdomain);
      mfrom.textContent = label + "." + settings.domain;
      track.textContent = separate.checked
        ? effective(prefix.value, settings.defaultPrefix) + settings.merge + label + "." + settings.domain
        : "none (no separate tracking subdomain)";
      warning.hidden =
        label === effective(subdomain.defaultValue, settings.defaultSubdomain) &&
        effective(prefix.value, settings.defaultPrefix) === effective(prefix.defaultValue, settings.defaultPrefix) &&
        separate.checked === separate.defaultChecked;
    }

    form.addEventListener("input", update);
    form.addEventListener("change", update);
    document.getElementById("preview").hidden = false;
    update();
  }

  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), setUpCopy);
  var settingsForm = document.getElementById("settings");
  if (settingsForm) {
    setUpPreview(settingsForm);
  }
})();
