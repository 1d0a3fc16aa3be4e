package devices

import (
	"context"

	"github.com/uwsportal/uwsportal/internal/thingspace"
	"github.com/uwsportal/uwsportal/models"
)

// The calls to ThingSpace, through the credential's shared session.

// listPage reads one page after the cursor (ThingSpace's largest device
// id seen) and returns the next page's cursor (0 after the last).
func (s *Service) listPage(ctx context.Context, ss *session, after int64) ([]models.Device, int64, error) {
	req := thingspace.ListDevicesRequest{AccountName: ss.dept.AccountName, MaxNumberOfDevices: PageSize, LargestDeviceIDSeen: after}
	res, err := ss.client.ListDevices(ss.ctx(ctx), ss.cred, req)
	if err != nil {
		return nil, 0, err
	}
	out := make([]models.Device, 0, len(res.Devices))
	for _, d := range res.Devices {
		out = append(out, fromUpstream(d))
	}
	next, more, err := res.Next(req)
	if err != nil || !more {
		return out, 0, err
	}
	return out, next.LargestDeviceIDSeen, nil
}

// lookup reads the one device id names (none if ThingSpace knows none).
func (s *Service) lookup(ctx context.Context, ss *session, id models.DeviceID) ([]models.Device, error) {
	req := thingspace.ListDevicesRequest{AccountName: ss.dept.AccountName, DeviceID: &thingspace.DeviceID{Kind: id.Kind, ID: id.ID}}
	res, err := ss.client.ListDevices(ss.ctx(ctx), ss.cred, req)
	if thingspace.ClassOf(err) == thingspace.ClassBadRequest {
		return nil, nil // an unknown device is answered with an error code
	}
	if err != nil {
		return nil, err
	}
	out := make([]models.Device, 0, len(res.Devices))
	for _, d := range res.Devices {
		out = append(out, fromUpstream(d))
	}
	return out, nil
}

// send makes one device's action and returns ThingSpace's request id.
func (s *Service) send(ctx context.Context, ss *session, a Action, id models.DeviceID) (string, error) {
	devs := []thingspace.DeviceRef{{DeviceIDs: []thingspace.DeviceID{{Kind: id.Kind, ID: id.ID}}}}
	var body any
	switch a.Op {
	case models.OpActivate:
		body = thingspace.ActivateRequest{AccountName: ss.dept.AccountName, ServicePlan: a.ServicePlan, MdnZipCode: a.ZIP, Devices: devs}
	case models.OpPlan:
		body = thingspace.ChangePlanRequest{AccountName: ss.dept.AccountName, ServicePlan: a.ServicePlan, Devices: devs}
	case models.OpDeactivate:
		body = thingspace.DeactivateRequest{AccountName: ss.dept.AccountName, ReasonCode: a.ReasonCode, EtfWaiver: a.ETFWaiver, Devices: devs}
	default:
		body = thingspace.ActionRequest{AccountName: ss.dept.AccountName, Devices: devs}
	}
	res, err := ss.client.DeviceAction(ss.ctx(ctx), ss.cred, string(a.Op), body)
	return res.RequestID, err
}

func fromUpstream(d thingspace.Device) models.Device {
	out := models.Device{Connected: d.Connected, IPAddress: d.IPAddress, LastActivation: d.LastActivationDate,
		LastConnection: d.LastConnectionDate, State: d.State(), ServicePlan: d.ServicePlan()}
	for _, id := range d.DeviceIDs {
		out.IDs = append(out.IDs, models.DeviceID{Kind: id.Kind, ID: id.ID})
	}
	if len(d.CarrierInformations) > 0 {
		out.Carrier = d.CarrierInformations[0].CarrierName
	}
	return out
}
