package webapp_test

import re "regexp"

// regexp says whether s matches the expression.
func regexp(s, expr string) bool { return re.MustCompile(expr).MatchString(s) }
