package webapp

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"

	"callscribe"
)

// channelColours are the colours of the channels (speakers) on the chart and the
// transcript page: each has a contrast of at least 4.5:1 on white (WCAG AA for text).
var channelColours = []string{"#0b57a4", "#1b6e20", "#8a3b00", "#6a1b9a"}

func channelColour(ch int) string {
	if ch < 0 {
		ch = -ch
	}
	return channelColours[ch%len(channelColours)]
}

// chart is the per-day picture of the calls list: calls per day, and talk time per
// speaker per day, drawn on the server as SVG (no script, no library).
type chart struct {
	Days      []chartDay
	Channels  []chartChannel
	Calls     template.HTML // the calls-per-day SVG
	Talk      template.HTML // the talk-time SVG
	SVG, Back template.URL  // the image and the list of the same filters
}

// chartFor draws the chart of the calls the query's filters pick.
func (s *Server) chartFor(r *http.Request, v *visit) (chart, error) {
	f, errs := callFilter(r.URL.Query(), v)
	if len(errs) > 0 {
		return chart{}, callscribe.Errorf(callscribe.EINVALID, "the filters are not valid")
	}
	return s.activityChart(r.Context(), v, f)
}

// chartSVG is the list's chart as an image: calls per day above, talk time per speaker
// below, with its legend. Its own request, so the list never waits for the sums of
// talk time over the period's segments.
func (s *Server) chartSVG(w http.ResponseWriter, r *http.Request, v *visit) error {
	c, err := s.chartFor(r, v)
	if err != nil {
		return err
	}
	var b strings.Builder
	esc := template.HTMLEscapeString
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 720 400" width="720" height="400" font-family="DejaVu Sans, sans-serif">`)
	fmt.Fprintf(&b, `<text x="0" y="14" font-size="13" fill="#1a1a1a">%s</text>`, esc(translate(v.Lang, "calls.chart.calls")))
	fmt.Fprintf(&b, `<g transform="translate(0 20)">%s</g>`, c.Calls)
	fmt.Fprintf(&b, `<text x="0" y="210" font-size="13" fill="#1a1a1a">%s</text>`, esc(translate(v.Lang, "calls.chart.talk")))
	x := 0
	for _, ch := range c.Channels {
		fmt.Fprintf(&b, `<rect x="%d" y="218" width="10" height="10" fill="%s"/><text x="%d" y="228" font-size="12" fill="#1a1a1a">%s</text>`, x, ch.Colour, x+14, esc(ch.Name))
		x += 24 + 8*len([]rune(ch.Name))
	}
	fmt.Fprintf(&b, `<g transform="translate(0 236)">%s</g>`, c.Talk)
	b.WriteString(`</svg>`)
	w.Header().Set("Content-Type", "image/svg+xml")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, b.String())
	return nil
}

// chartPage shows the chart's figures as a table: what the image shows, for a screen
// reader and for copying.
func (s *Server) chartPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	c, err := s.chartFor(r, v)
	if err != nil {
		return err
	}
	q := r.URL.Query().Encode()                                                    // re-encoded: only what url.Values holds
	c.SVG, c.Back = template.URL("/calls/chart.svg?"+q), template.URL("/calls?"+q) // #nosec: our paths
	s.render(w, r, v, http.StatusOK, "chart", c)
	return nil
}

type chartDay struct {
	Label   string
	Calls   int
	Minutes []float64 // by channel, in Channels' order
}

type chartChannel struct {
	Channel int
	Name    string
	Colour  string
}

// activityChart draws the days of the filter's date range (the last chartDays days
// when it has none, at most maxChartDays), of the calls the visitor may see.
func (s *Server) activityChart(ctx context.Context, v *visit, f callscribe.CallFilter) (chart, error) {
	today := time.Now().In(moscow)
	to := time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, moscow)
	if f.To != nil {
		to = *f.To
	}
	from := to.AddDate(0, 0, -chartDays)
	if f.From != nil && f.From.Before(to) {
		from = *f.From
	}
	if to.Sub(from) > maxChartDays*24*time.Hour {
		from = to.AddDate(0, 0, -maxChartDays)
	}
	days, err := s.cfg.Readers.Store.Activity(ctx, v.Account.OrgID, f.OwnerID, from, to, moscow)
	if err != nil {
		return chart{}, err
	}
	var c chart
	seen := map[int]bool{}
	for _, d := range days {
		for ch := range d.Talk {
			if !seen[ch] {
				seen[ch] = true
				c.Channels = append(c.Channels, chartChannel{Channel: ch, Name: channelName(v.Lang, ch), Colour: channelColour(ch)})
			}
		}
	}
	for i := 1; i < len(c.Channels); i++ { // few channels: insertion sort keeps their order stable
		for j := i; j > 0 && c.Channels[j].Channel < c.Channels[j-1].Channel; j-- {
			c.Channels[j], c.Channels[j-1] = c.Channels[j-1], c.Channels[j]
		}
	}
	byDay := map[string]int{}
	for i, d := range days {
		byDay[d.Day.Format(time.DateOnly)] = i
	}
	for d := from.In(moscow); d.Before(to); d = d.AddDate(0, 0, 1) {
		cd := chartDay{Label: d.Format("02.01"), Minutes: make([]float64, len(c.Channels))}
		if v.Lang == "en" {
			cd.Label = d.Format("Jan 2")
		}
		if i, ok := byDay[d.Format(time.DateOnly)]; ok {
			cd.Calls = days[i].Calls
			for k, ch := range c.Channels {
				cd.Minutes[k] = float64(days[i].Talk[ch.Channel]) / 60000
			}
		}
		c.Days = append(c.Days, cd)
	}
	c.Calls = barsSVG(c.Days, translate(v.Lang, "calls.chart.calls"), func(d chartDay) []bar {
		return []bar{{float64(d.Calls), channelColours[0]}}
	})
	c.Talk = barsSVG(c.Days, translate(v.Lang, "calls.chart.talk"), func(d chartDay) []bar {
		var bs []bar
		for k, ch := range c.Channels {
			bs = append(bs, bar{d.Minutes[k], ch.Colour})
		}
		return bs
	})
	return c, nil
}

// channelName is how a channel's speaker is named: agent, client, or a number.
func channelName(lang string, ch int) string {
	switch ch {
	case 0:
		return translate(lang, "calls.channel.agent")
	case 1:
		return translate(lang, "calls.channel.client")
	}
	return translate(lang, "calls.channel.other", ch+1)
}

type bar struct {
	value  float64
	colour string
}

// barsSVG draws a bar per day (stacked when a day has several values), with the
// largest total's value on the axis. Its text is numbers, dates and a title from the
// catalogue, each escaped.
func barsSVG(days []chartDay, title string, values func(chartDay) []bar) template.HTML {
	const width, height, left, bottom, top = 720, 160, 40, 20, 10
	peak := 0.0
	for _, d := range days {
		t := 0.0
		for _, b := range values(d) {
			t += b.value
		}
		peak = max(peak, t)
	}
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`, width, height, width, height, esc(title))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#4a4a4a"/>`, left, height-bottom, width, height-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#1a1a1a" text-anchor="end">%s</text>`, left-4, top+8, esc(trimFloat(peak)))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#1a1a1a" text-anchor="end">0</text>`, left-4, height-bottom)
	if len(days) > 0 {
		slot := float64(width-left) / float64(len(days))
		for i, d := range days {
			x := float64(left) + float64(i)*slot + slot*0.15
			y := float64(height - bottom)
			for _, v := range values(d) {
				if peak == 0 || v.value <= 0 {
					continue
				}
				h := v.value / peak * float64(height-bottom-top)
				y -= h
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x, y, slot*0.7, h, v.colour)
			}
			if len(days) <= 31 && i%5 == 0 || len(days) > 31 && i%14 == 0 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" fill="#1a1a1a">%s</text>`, x, height-4, esc(d.Label))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: numbers, dates and escaped catalogue text only
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	return strings.TrimSuffix(s, ".0")
}
