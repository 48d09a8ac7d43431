from trainings.forms import AttendanceForm


def test_attendance_form_keeps_the_valid_marks_of_the_dates_seated_enrolments_only():
    form = AttendanceForm(
        {
            "attendance-1": "attended",
            "attendance-2": "asleep",
            "attendance-3": "no_show",
            "attendance-9": "attended",
        },
        enrolment_ids=[1, 2, 3, 4],
    )
    assert form.marks() == {1: "attended", 3: "no_show"}
