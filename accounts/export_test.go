package accounts

// Hashes reports how many password hashes sign-in computed: an unknown email must cost
// one, as a wrong password does.
func Hashes(s *Service) int64 { return s.hashes.Load() }
