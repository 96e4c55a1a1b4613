// The browser's time zone, kept for the console's next pages (api/console/templates/base.html),
// for someone whose staff record names none.
try {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) document.cookie = "journeys_tz=" + encodeURIComponent(zone) + "; path=/staff; SameSite=Lax";
} catch (e) {}
