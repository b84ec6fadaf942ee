package notify_test

import (
	"fmt"
	"strconv"
)

func fmtSscan(s string, i *int) (int, error) { return fmt.Sscan(s, i) }

func itoa(i int) string { return strconv.Itoa(i) }
