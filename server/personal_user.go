package server

// PersonalUser returns the user whose personal channel channel is, under
// the namespaces in force now (they change with Reload), or false: on an
// open node no channel is anyone's. cmd/comet gives it to the personal
// engine (inbox/personal), built before the server. Any goroutine.
func (s *Server) PersonalUser(channel string) (string, bool) {
	p := s.conf().Auth.Policy
	if p == nil {
		return "", false
	}
	return p.PersonalUser(channel)
}
