// Kiosk pages (booking/views/kiosk.py). The user's code page renews itself before the
// code expires; the kiosk page keeps its scan field focused (a QR scanner types the code
// and Enter) and, where the browser reads QR codes (BarcodeDetector), offers the camera.
(function () {
  "use strict";
  var code = document.getElementById("kiosk-code");
  if (code && code.dataset.renewSeconds) {
    window.setTimeout(function () { window.location.reload(); },
      Math.max(30, parseInt(code.dataset.renewSeconds, 10)) * 1000);
  }
  var field = document.getElementById("kiosk-scan-code");
  if (!field) { return; }
  field.focus();
  var button = document.getElementById("kiosk-camera");
  if (!button || !("BarcodeDetector" in window) || !navigator.mediaDevices) { return; }
  button.classList.remove("d-none");
  button.addEventListener("click", function () {
    var video = document.getElementById("kiosk-video");
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.classList.remove("d-none");
      video.play();
      var look = function () {
        detector.detect(video).then(function (found) {
          if (found.length && found[0].rawValue) {
            stream.getTracks().forEach(function (t) { t.stop(); });
            field.value = found[0].rawValue;
            field.form.submit();
          } else {
            window.requestAnimationFrame(look);
          }
        }).catch(function () { window.requestAnimationFrame(look); });
      };
      look();
    });
  });
  // Back to waiting for the next person a little after a result was shown.
  var result = document.getElementById("kiosk-result");
  if (result) {
    window.setTimeout(function () { window.location.assign(result.dataset.next); }, 15000);
  }
}());
