package awsapi

import (
	"encoding/xml"
	"fmt"
	"net/http"
)

// Error is an AWS error response: its HTTP status, code and message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func missingParameter(name string) *Error {
	return &Error{Status: 400, Code: "MissingParameter",
		Message: fmt.Sprintf("The request must contain the parameter %s", name)}
}

func invalidParameterValue(format string, args ...any) *Error {
	return &Error{Status: 400, Code: "InvalidParameterValue", Message: fmt.Sprintf(format, args...)}
}

// authError returns the error for a request whose signature does not
// verify. EC2 returns 401 AuthFailure, and the Query services 403 with code.
//
// NOTE: the EC2 API reference lists AuthFailure without a status code. The
// 401 here is what EC2 is known to return, not checked against EC2 itself.
func (s *Server) authError(code, message string) *Error {
	if s.svc.Errors == EC2Errors {
		return &Error{Status: http.StatusUnauthorized, Code: "AuthFailure", Message: message}
	}
	return &Error{Status: http.StatusForbidden, Code: code, Message: message}
}

type ec2ErrorBody struct {
	XMLName   xml.Name       `xml:"Response"`
	Errors    []ec2ErrorItem `xml:"Errors>Error"`
	RequestID string         `xml:"RequestID"`
}

type ec2ErrorItem struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type queryErrorBody struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Namespace string   `xml:"xmlns,attr,omitempty"`
	Error     struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func (s *Server) writeError(w http.ResponseWriter, e *Error) {
	if s.svc.Errors == EC2Errors {
		s.writeXML(w, e.Status, ec2ErrorBody{
			Errors:    []ec2ErrorItem{{Code: e.Code, Message: e.Message}},
			RequestID: requestID(),
		})
		return
	}
	body := queryErrorBody{Namespace: s.svc.Namespace, RequestID: requestID()}
	body.Error.Type = "Sender"
	if e.Status >= 500 {
		body.Error.Type = "Receiver"
	}
	body.Error.Code, body.Error.Message = e.Code, e.Message
	s.writeXML(w, e.Status, body)
}
