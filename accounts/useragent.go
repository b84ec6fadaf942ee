package accounts

import "strings"

// UserAgentFamily reduces a User-Agent header to what the sessions list shows and what
// is stored: the browser's and the system's family ("Chrome on Linux"), no version, no
// device model, nothing that narrows a person down further. "" becomes "unknown".
func UserAgentFamily(ua string) string {
	browser, system := "", ""
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("YaBrowser/"):
		browser = "Yandex Browser"
	case has("Edg/") || has("Edge/"):
		browser = "Edge"
	case has("OPR/") || has("Opera"):
		browser = "Opera"
	case has("Firefox/") || has("FxiOS/"):
		browser = "Firefox"
	case has("Chromium/"):
		browser = "Chromium"
	case has("Chrome/") || has("CriOS/") || has("HeadlessChrome/"):
		browser = "Chrome"
	case has("Safari/"):
		browser = "Safari"
	case has("curl/"):
		browser = "curl"
	}
	switch {
	case has("Android"):
		system = "Android"
	case has("iPhone") || has("iPad") || has("iPod"):
		system = "iOS"
	case has("Windows"):
		system = "Windows"
	case has("CrOS"):
		system = "ChromeOS"
	case has("Mac OS X") || has("Macintosh"):
		system = "macOS"
	case has("Linux") || has("X11"):
		system = "Linux"
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "a browser on " + system
	}
	return "unknown"
}
